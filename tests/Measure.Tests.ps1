# Measure-DaxFsImage: where the bytes of an image go.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Basic = Join-Path $Vectors 'basic.static.daxfs'
}

Describe 'Measure-DaxFsImage' {
    It 'accounts for every byte of <_>' -ForEach @(Get-ChildItem (Join-Path $PSScriptRoot 'vectors') -Filter *.daxfs | ForEach-Object Name) {
        $path = Join-Path $Vectors $_
        $m = Measure-DaxFsImage $path
        $m | Should -BeOfType DaxFs.DaxFsImageSpace
        $m.Length | Should -Be (Get-Item $path).Length
        ($m.Usage | Measure-Object Bytes -Sum).Sum | Should -Be $m.Length
        foreach ($u in $m.Usage) { $m.($u.Kind.ToString()) | Should -Be $u.Bytes }
        [math]::Round(($m.Usage | Measure-Object Percent -Sum).Sum) | Should -Be 100
    }
    It 'names the structures of the basic image' {
        $m = Measure-DaxFsImage $Basic
        $m.Superblock | Should -Be 4096
        $m.InodeTable | Should -Be (19 * 64)
        $m.FileData | Should -Be 9150
        $m.FileCount | Should -Be 11
        $m.HardLinkNames | Should -Be 1
        $m.LargestFiles[0].Path | Should -Be '/a/five000'
        $m.LargestFiles[0].Bytes | Should -Be 5000
        $m.LargestDirectories[0].Path | Should -Be '/'
    }
    It 'lists only -Top largest files and directories' {
        $m = Measure-DaxFsImage (Join-Path $Vectors 'wide.static.daxfs') -Top 2
        $m.LargestFiles.Count | Should -Be 2
        $m.LargestDirectories.Count | Should -Be 2
    }
    It 'shows the branch table and the delta region of a branching image' {
        $m = Measure-DaxFsImage (Join-Path $Vectors 'basic.branching.daxfs')
        $m.BranchTable | Should -Be 32768
        $m.DeltaFree | Should -Be 1MB
        $m.DeltaUsed | Should -Be 0
    }
    It 'takes images from Get-ChildItem and Get-DaxFsImage' {
        @(Get-ChildItem $Vectors -Filter '*.static.daxfs' | Measure-DaxFsImage).Count | Should -Be 5
        (Get-DaxFsImage $Basic | Measure-DaxFsImage).Path | Should -Be $Basic
    }
    It 'shows every category with bytes and percent in its default view' {
        $text = Measure-DaxFsImage $Basic | Out-String -Width 120
        $text | Should -Match 'FileData\s+8\.9 KiB\s+11\.2%\s+9150 bytes'
        $text | Should -Match 'Padding\s+57 KiB'
        $text | Should -Match '4\.9 KiB /a/five000'
    }
    It 'reports a missing image as ImageNotFound' {
        { Measure-DaxFsImage (Join-Path $TestDrive 'nosuch.daxfs') -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,DaxFs.Commands.MeasureDaxFsImageCommand'
    }
    It 'counts a built image exactly, with its bytes past total_size as trailing' {
        $src = Join-Path $TestDrive 'src'
        New-Item -ItemType Directory "$src/a/b" -Force | Out-Null
        foreach ($i in 1..50) { [IO.File]::WriteAllBytes("$src/a/f$i", [byte[]]::new($i * 97)) }
        New-Item -ItemType SymbolicLink -Path "$src/a/b/link" -Target '../f1' | Out-Null
        $img = New-DaxFsImage -Path $src -Destination (Join-Path $TestDrive 'built.daxfs')
        [IO.File]::AppendAllText($img.Path, 'xyz')
        $m = Measure-DaxFsImage $img
        ($m.Usage | Measure-Object Bytes -Sum).Sum | Should -Be (Get-Item $img.Path).Length
        $m.FileData | Should -Be ((1..50 | ForEach-Object { $_ * 97 }) | Measure-Object -Sum).Sum
        $m.SymlinkTargets | Should -Be 6
        $m.Trailing | Should -Be 3
    }
}
