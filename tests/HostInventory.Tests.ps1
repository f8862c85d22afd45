# docs/runbooks/Get-DaxHostInventory.ps1 on the runbook host (RunbookHost.ps1).
BeforeAll { . (Join-Path $PSScriptRoot 'RunbookHost.ps1') }
AfterAll { Reset-RunbookHost }

Describe 'Get-DaxHostInventory.ps1' {
    BeforeAll { $script:Inventory = Join-Path $Runbooks 'Get-DaxHostInventory.ps1' }
    BeforeEach {
        $h = New-FakeHost
        $tree = New-RootTree "tree-$(Get-Random)"
        $mp = Join-Path $h.Mnt 'rootfs'
        Mock ndctl { Get-Content (Join-Path $Fixtures 'ndctl-list-R.devdax.json') -Raw; $global:LASTEXITCODE = 0 } -ParameterFilter { "$args" -eq 'list --regions' }
    }

    It 'lists regions, namespaces, devices, heaps and mounts, with the image each holds, and exits 0 on a healthy host' {
        Set-PublishedState $tree $mp
        $imageSha = (Get-FileHash (Get-ChildItem $TestDrive -Filter 'pre-*.daxfs' | Sort-Object LastWriteTime | Select-Object -Last 1).FullName).Hash
        $global:LASTEXITCODE = 99
        $rows = @(& $Inventory -CsvPath "$TestDrive/inv.csv" -JsonPath "$TestDrive/inv.json" -WorkDirectory $h.Work)
        $LASTEXITCODE | Should -Be 0
        $rows.Kind | Should -Be @('Region', 'Namespace', 'DaxDevice', 'DmaHeap', 'Mount')
        $rows[0].PSObject.TypeNames[0] | Should -Be 'DaxFs.Runbook.InventoryItem'
        $rows.Severity | Should -Be @('OK', 'OK', 'OK', 'OK', 'OK')
        $rows[0].Name | Should -Be 'region0'
        $dev = $rows | Where-Object Kind -eq 'DaxDevice'
        $dev.PhysicalAddress | Should -Be '0x100a00000'
        $dev.ImageSha256 | Should -Be $imageSha
        $dev.ImageMode | Should -Be 'Static'
        $mount = $rows | Where-Object Kind -eq 'Mount'
        $mount.MountPoint | Should -Be $mp
        $mount.ImageSha256 | Should -Be $imageSha
        $mount.Detail | Should -BeLike 'validation warnings: NLINK-*'
        Should -Invoke ndctl -Times 1 -Exactly
        (Import-Csv "$TestDrive/inv.csv").Count | Should -Be 5
        (Import-Csv "$TestDrive/inv.csv")[4].ImageSha256 | Should -Be $imageSha
        (Get-Content "$TestDrive/inv.json" -Raw | ConvertFrom-Json).Kind | Should -Be $rows.Kind
        Test-Path $h.Work | Should -BeFalse
    }
    It 'reports an empty device as such, not as a problem' {
        $rows = @(& $Inventory -WorkDirectory $h.Work)
        $LASTEXITCODE | Should -Be 0
        ($rows | Where-Object Kind -eq 'DaxDevice').Detail | Should -Be 'no DAXFS image'
    }
    It 'fails with exit code 1 when a mount''s memory was overwritten or holds an unsafe image' {
        Set-PublishedState $tree $mp
        $f = [IO.File]::OpenWrite($h.Node); try { $f.Write([byte[]]::new(4096), 0, 4096) } finally { $f.Dispose() }
        $rows = @(& $Inventory -WorkDirectory $h.Work -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        $m = $rows | Where-Object Kind -eq 'Mount'
        $m.Severity | Should -Be 'Error'
        $m.Findings | Should -Match 'holds no DAXFS image'

        # basic with inode 18 (/a/five000) zeroed: a dirent names an inode of no type (INODE-TYPE, an error)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $Vectors 'basic.static.daxfs'))
        [Array]::Clear($bytes, 0x2000 + 17 * 64, 64)
        [IO.File]::WriteAllBytes("$TestDrive/unsafe.daxfs", $bytes)
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) "$TestDrive/unsafe.daxfs" -Device dax0.0 -Force -Confirm:$false
        $rows = @(& $Inventory -WorkDirectory $h.Work -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        ($rows | Where-Object Kind -eq 'DaxDevice').Severity | Should -Be 'Error'
        ($rows | Where-Object Kind -eq 'Mount').Findings | Should -Match '^[A-Z]+-[A-Z-]+: '
    }
    It 'flags a mount smaller than its image, and -FailOn None keeps exit code 0' {
        $img = New-DaxFsImage $tree (Join-Path $TestDrive "small-$(Get-Random).daxfs")
        & (Get-Command Write-DaxFsImage -CommandType Cmdlet) $img.Path -Device dax0.0 -Confirm:$false
        Add-MountLine $mp daxfs daxfs ('ro,phys=0x{0:x},size=8192,static' -f $DaxPhys) 'ro,relatime'
        $rows = @(& $Inventory -WorkDirectory $h.Work -FailOn None)
        $LASTEXITCODE | Should -Be 0
        $m = $rows | Where-Object Kind -eq 'Mount'
        $m.Severity | Should -Be 'Error'
        $m.Findings | Should -Match 'ImageLargerThanTarget|says it is'
    }
    It 'warns when ndctl is missing' {
        Mock Get-Command { $null } -ParameterFilter { $Name -eq 'ndctl' }
        $rows = @(& $Inventory -WorkDirectory $h.Work -FailOn Warning -WarningAction SilentlyContinue)
        $LASTEXITCODE | Should -Be 1
        $rows[0].Findings | Should -Match 'ndctl is not installed'
    }
}
