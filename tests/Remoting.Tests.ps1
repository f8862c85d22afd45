# The module's objects after a trip through PowerShell remoting (Invoke-Command, PSSessions): they come back as
# deserialized property bags (type names Deserialized.DaxFs.*). Their format views still apply, and piped on they still
# bind to the module's cmdlets by property name. The trip is made with the serializer remoting uses (PSSerializer, CLIXML).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Feature = Join-Path $PSScriptRoot 'fixtures/branches/feature.daxfs'
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
    function ConvertTo-Remote($InputObject) { [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($InputObject, 3)) }
    function Format-Both($Live, [string] $As = 'Table') {
        $remote = @($Live | ForEach-Object { ConvertTo-Remote $_ })
        $cmd = "Format-$As"
        [pscustomobject]@{ Live = ($Live | & $cmd | Out-String -Width 200); Remote = ($remote | & $cmd | Out-String -Width 200); Objects = $remote }
    }
}

Describe 'Objects that come back over remoting' {
    It 'formats a deserialized <Name> with its view, as the live object' -TestCases @(
        @{ Name = 'DaxFsImage'; Get = { Get-DaxFsImage $Basic } }
        @{ Name = 'DaxFsItem'; Get = { Get-DaxFsItem $Basic -Recurse } }
        @{ Name = 'DaxFsBranch'; Get = { Get-DaxFsBranch $Feature } }
        @{ Name = 'DaxFsBranchChange'; Get = { Compare-DaxFsBranch $Feature -Branch feature } }
        @{ Name = 'DaxFsDeltaLogEntry'; Get = { Get-DaxFsBranch $Feature -Name feature -Log } }
        @{ Name = 'DaxFsValidationFinding'; Get = { Test-DaxFsImage $Basic -Detailed } }
    ) {
        $live = @(& $Get)
        $both = Format-Both $live
        $both.Objects[0].PSTypeNames[0] | Should -Be "Deserialized.DaxFs.$Name"
        $both.Remote | Should -Be $both.Live
    }
    It 'formats a deserialized image as a list with its list view' {
        $both = Format-Both (Get-DaxFsImage $Feature) 'List'
        $both.Remote | Should -Be $both.Live
    }
    It 'binds a deserialized image to the reading cmdlets by property name' {
        $remote = ConvertTo-Remote (Get-DaxFsImage $Basic)
        ($remote | Get-DaxFsItem -Recurse).FullName | Should -Be (Get-DaxFsItem $Basic -Recurse).FullName
        ($remote | Test-DaxFsImage) | Should -Be (Test-DaxFsImage $Basic)
    }
    It 'binds a deserialized item, branch or mount to the reading cmdlets by the image it names' {
        $item = ConvertTo-Remote (Get-DaxFsItem $Feature -Path /etc/hostname)
        ($item | Get-DaxFsBranch).Name | Should -Be 'main', 'feature'
        $branch = ConvertTo-Remote (Get-DaxFsBranch $Feature -Name feature)
        ($branch | Get-DaxFsImage).Path | Should -Be (Get-DaxFsImage $Feature).Path
    }
    It 'binds deserialized items to Get-DaxFsContent by property name (-Image from ImagePath, -Path from FullName, -Branch)' {
        $live = @(Get-DaxFsItem $Feature -Recurse | Where-Object Type -eq File)
        $remote = @($live | ForEach-Object { ConvertTo-Remote $_ })
        $remote[0].PSTypeNames[0] | Should -Be 'Deserialized.DaxFs.DaxFsItem'
        $got = @($remote | Get-DaxFsContent -Raw)
        $got | Should -Be @($live | Get-DaxFsContent -Raw)
        $got.Count | Should -Be $live.Count
        # An item of a branch reads that branch's content (its Branch property binds too), not the base image's.
        $inBranch = @(Get-DaxFsItem $Feature -Recurse -Branch feature | Where-Object Type -eq File)
        $expected = @($inBranch | ForEach-Object { [Convert]::ToHexString([byte[]](Get-DaxFsContent $Feature -Path $_.FullName -Branch feature -AsByteStream -Raw)) })
        $fromRemote = @($inBranch | ForEach-Object { ConvertTo-Remote $_ } | Get-DaxFsContent -AsByteStream -Raw | ForEach-Object { [Convert]::ToHexString([byte[]]$_) })
        $fromRemote | Should -Be $expected
        (ConvertTo-Remote (Get-DaxFsItem $Feature -Path /new.txt -Branch feature) | Get-DaxFsContent -Raw) | Should -Be (Get-DaxFsContent $Feature -Path /new.txt -Branch feature -Raw)
    }
    It 'binds a deserialized image to Get-DaxFsContent -Image by value, with -Path given' {
        (ConvertTo-Remote (Get-DaxFsImage $Feature) | Get-DaxFsContent -Path /etc/hostname) | Should -Be (Get-DaxFsContent $Feature -Path /etc/hostname)
    }
    It 'an explicit -Branch wins over the item''s own, and a base item reads the base image' {
        $item = ConvertTo-Remote (Get-DaxFsItem $Feature -Path /data/keep.txt)
        $item.Branch | Should -BeNullOrEmpty
        ($item | Get-DaxFsContent -Raw) | Should -Be (Get-DaxFsContent $Feature -Path /data/keep.txt -Raw)
        ($item | Get-DaxFsContent -Raw -Branch feature) | Should -Be (Get-DaxFsContent $Feature -Path /data/keep.txt -Raw -Branch feature)
    }
}
